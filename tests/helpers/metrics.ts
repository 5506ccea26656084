// Reading the Prometheus text a service answers on GET /metrics: one sample by name and labels, or every sample of
// a metric.
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseMetrics(text: string): Sample[] {
  return text.split("\n").flatMap((line) => {
    const match = LINE.exec(line);
    if (!match) return [];
    const labels = Object.fromEntries([...(match[2] ?? "").matchAll(LABEL)].map((m) => [m[1]!, m[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c))]));
    return [{ name: match[1]!, labels, value: Number(match[3]) }];
  });
}

/** GET /metrics of `origin`; throws unless it answers 200 with the Prometheus text format. */
export async function scrape(origin: string, headers: Record<string, string> = {}): Promise<Sample[]> {
  const response = await fetch(`${origin}/metrics`, { headers });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`GET ${origin}/metrics answered ${response.status}: ${text.slice(0, 300)}`);
  if (!response.headers.get("content-type")?.startsWith("text/plain; version=0.0.4")) throw new Error(`unexpected content type ${response.headers.get("content-type")}`);
  return parseMetrics(text);
}

/** The samples of `name` whose labels include `labels`. */
export const samples = (all: Sample[], name: string, labels: Record<string, string> = {}): Sample[] =>
  all.filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value));

/** The value of the one sample of `name` with (at least) these labels; undefined when there is none. */
export function value(all: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples(all, name, labels);
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}
