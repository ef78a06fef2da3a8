/** Benchmark entry: `npm run bench` (builds, then runs build/js/bench/index.js). Prints every table in one run. */
import { runCryptoBench } from "./crypto";
import { runPssHmacBench } from "./more";
import { runEcdsaBench } from "./ecdsa";
import { runEd25519Bench } from "./ed25519";
import { runDirectBench } from "./direct";
import { runFilterBench } from "./filter";

async function main(): Promise<void> {
  await runCryptoBench();
  console.log("");
  await runPssHmacBench();
  console.log("");
  await runEcdsaBench();
  console.log("");
  await runEd25519Bench();
  console.log("");
  await runDirectBench();
  console.log("");
  await runFilterBench();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
