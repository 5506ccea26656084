// The layout's boundary rule (eslint/boundaries.js): a service reaches another service only through its entry
// point, the domain only into shared, shared into nothing of ours. Checked on snippets through ESLint itself, as
// `make test`'s lint step runs it.
import { resolve } from "node:path";
import { ESLint } from "eslint";
import { describe, expect, test } from "vitest";
import { PROJECT_ROOT } from "../../services/shared/src/paths.ts";

const eslint = new ESLint({ cwd: PROJECT_ROOT });

async function problems(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: resolve(PROJECT_ROOT, file) });
  return result!.messages.filter((m) => m.ruleId === "boundaries/no-cross-service-import").map((m) => m.message);
}

describe("the boundary rule", () => {
  test.each([
    ["services/towel/src/x.ts", `import { a } from "../../mutations/src/server.ts"; export { a };`],
    ["services/cli/src/x.ts", `export { b } from "../../mutations/src/graphql/context.ts";`],
    ["services/gateway/src/x.ts", `export const c = () => import("../../postgraphile/src/preset.ts");`],
    ["services/domain/src/x.ts", `import { d } from "../../mutations/src/index.ts"; export { d };`],
    ["services/shared/src/x.ts", `import { e } from "../../domain/src/states.ts"; export { e };`],
  ])("refuses %s reaching into another package: %s", async (file, code) => {
    expect(await problems(file, code)).toHaveLength(1);
  });

  test.each([
    ["services/gateway/src/x.ts", `export const a = () => import("../../mutations/src/index.ts");`],
    ["services/towel/src/x.ts", `import { b } from "../../domain/src/states.ts"; import { c } from "../../shared/src/config.ts"; export { b, c };`],
    ["services/domain/src/x.ts", `import { d } from "../../shared/src/config.ts"; import { e } from "./states.ts"; export { d, e };`],
    ["services/mutations/src/graphql/x.ts", `import { f } from "../server.ts"; export { f };`],
  ])("allows %s: %s", async (file, code) => {
    expect(await problems(file, code)).toEqual([]);
  });

  test("the message says what to do", async () => {
    const [message] = await problems("services/towel/src/x.ts", `import { a } from "../../mutations/src/server.ts"; export { a };`);
    expect(message).toBe(
      "../../mutations/src/server.ts: a service imports another service only through its entry point (services/mutations/src/index.ts); put shared rules in services/domain or services/shared.",
    );
  });
});
