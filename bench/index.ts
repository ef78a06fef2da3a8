/** Benchmark entry: `npm run bench` (builds, then runs build/js/bench/index.js). */
import { runCryptoBench } from "./crypto";
import { runFilterBench } from "./filter";

async function main(): Promise<void> {
  await runCryptoBench();
  console.log("");
  await runFilterBench();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
