import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/**", "dist/**", "data/**", "coverage/**", "public/vendor/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-console": ["error", { allow: ["warn", "error"] }],
    },
  },
  { files: ["**/*.js", "**/*.cjs"], languageOptions: { sourceType: "commonjs", globals: { module: "writable", require: "readonly", __dirname: "readonly", process: "readonly", console: "readonly" } } },
  { files: ["public/**/*.js"], languageOptions: { sourceType: "script", globals: { window: "readonly", document: "readonly", fetch: "readonly", localStorage: "readonly", sessionStorage: "readonly", console: "readonly", URLSearchParams: "readonly", alert: "readonly", location: "readonly", setTimeout: "readonly", Chart: "readonly" } } },
  { files: ["bin/**", "bench/**", "scripts/**", "examples/**"], rules: { "no-console": "off" } },
);
