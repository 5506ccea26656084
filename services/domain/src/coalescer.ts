// Cross-request coalescing of one kind of statement (docs/domain.md, "Coalesced task-run states").
//
// Under load, Postgres spends most of a one-state write on what every statement costs (parse/bind, snapshot,
// transaction, commit, WAL flush), not on the state itself. So concurrent requests share statements: while fewer
// than `limit` statements are in flight, a request is sent at once, alone; otherwise it waits, and the next statement
// to finish sends every waiting request together, in ONE statement. There is no timer: a lone request never waits,
// and the more requests arrive at once, the more each statement carries.

/**
 * Sends ONE statement for the requests and returns one result per request, in their order. It must not mix up the
 * requests: a request's result is what it would have got alone.
 */
export type SendTogether<Request, Result> = (requests: Request[]) => Promise<Result[]>;

interface Waiting<Request, Result> {
  request: Request;
  resolve: (result: Result) => void;
  reject: (error: unknown) => void;
}

/**
 * A function that sends its request through `send`, sharing statements with concurrent callers as above. When a
 * shared statement fails as a whole (a Postgres error: bad input of one request, a deadlock, a lost connection),
 * each of its requests is sent again alone, so one bad request never fails another and each gets the error it
 * would have got alone.
 */
export function coalescer<Request, Result>(limit: number, send: SendTogether<Request, Result>): (request: Request) => Promise<Result> {
  let inFlight = 0;
  let waiting: Waiting<Request, Result>[] = [];

  async function sendTogether(batch: Waiting<Request, Result>[]): Promise<void> {
    let results: Result[];
    try {
      results = await send(batch.map((entry) => entry.request));
    } catch (error) {
      if (batch.length === 1) return batch[0]!.reject(error);
      await Promise.all(batch.map((entry) => sendTogether([entry])));
      return;
    }
    batch.forEach((entry, index) => entry.resolve(results[index]!));
  }

  // Sends everything waiting; `send` is called synchronously, so a request that finds a free slot goes out at once.
  async function flush(): Promise<void> {
    const batch = waiting;
    waiting = [];
    inFlight++;
    await sendTogether(batch); // never throws: every outcome went to the requests
    inFlight--;
    if (waiting.length > 0) void flush();
  }

  return (request) =>
    new Promise<Result>((resolve, reject) => {
      waiting.push({ request, resolve, reject });
      if (inFlight < limit) void flush();
    });
}
