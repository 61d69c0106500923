import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    environment: "jsdom",
    include: ["*.test.jsx"],
    setupFiles: ["./setup.js"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // One fork runs the files one after another: two cores, one directory server.
    fileParallelism: false,
  },
});
