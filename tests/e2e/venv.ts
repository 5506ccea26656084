// The virtualenv with the real Prefect Core 1.4.1 client that the end-to-end suite drives.
//
//   node tests/e2e/venv.ts        builds it if needed (what `make test` runs before vitest) and prints its path
//   ensureVenv()                  the same from a test (tests/e2e/harness.ts), so `npx vitest run tests/e2e` works alone
//
// It lives in tests/.venv/<key>/, built once from tests/e2e/requirements.txt and reused (tests/helpers/venv.ts: the
// key, the lock, the `complete` marker).
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureVirtualenv, type Venv, type VenvSpec } from "../helpers/venv.ts";

export type { Venv };

const HERE = dirname(fileURLToPath(import.meta.url));

const CORE: VenvSpec = {
  purpose: "Prefect Core 1.4.1",
  requirements: join(HERE, "requirements.txt"),
  root: resolve(HERE, "..", ".venv"),
  pythons: ["python3.11", "python3.10", "python3.9", "python3.8", "python3"],
  pythonVariable: "PREFECT_SERVER_TEST_PYTHON",
  minors: [7, 11],
  prefectVersion: "1.4.1",
};

/** Builds the venv unless it is already built; returns it. `log` receives progress lines (pip's output included). */
export function ensureVenv(log: (line: string) => void = () => {}): Promise<Venv> {
  return ensureVirtualenv(CORE, log);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  ensureVenv((line) => console.log(line)).then(
    (venv) => console.log(`Prefect Core 1.4.1: ${venv.prefect}`),
    (error: unknown) => {
      console.error(`Error: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
