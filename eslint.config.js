// Lint rules: the recommended sets of ESLint and typescript-eslint, plus a few that keep the code honest, and the
// layout's boundary rule (eslint/boundaries.js).
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import { boundaries } from "./eslint/boundaries.js";

export default tseslint.config(
  { ignores: ["node_modules/", "tests/.venv/", "bench/.venv/", "coverage/", "dist/", "services/**/generated/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly" } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-console": ["error", { allow: ["error"] }],
      eqeqeq: ["error", "always", { null: "ignore" }],
    },
  },
  {
    files: ["services/**"],
    plugins: { boundaries },
    rules: { "boundaries/no-cross-service-import": "error" },
  },
  {
    files: ["bin/**", "services/cli/**", "bench/**", "tests/**"],
    rules: { "no-console": "off" },
  },
);
