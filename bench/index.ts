/** Benchmark entry: `npm run bench` (builds, then runs build/js/bench/index.js). */
import { runCryptoBench } from "./crypto";

async function main(): Promise<void> {
  await runCryptoBench();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
