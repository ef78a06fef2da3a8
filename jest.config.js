/** Jest runs the TypeScript tests through ts-jest (transpile only; `npm run typecheck` type-checks them). */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/tests"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": ["ts-jest", { diagnostics: false, tsconfig: "tsconfig.check.json" }] },
  testTimeout: 120000,
};
