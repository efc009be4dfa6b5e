import { defineConfig } from "vitest/config";

// Two cores on the developers' and CI's machines: run test files on both, no more.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Stops the shared test Docker engine after the last run that used it (test/helpers/docker.ts).
    globalSetup: ["test/helpers/global-setup.ts"],
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
