/**
 * Benchmark entry: `npm run bench` (builds, then runs build/js/bench/index.js under `node --no-liftoff`,
 * as Envoy starts V8: optimized wasm code from the first call). Prints every table in one run.
 */
import os from "node:os";
import { runCryptoBench } from "./crypto";
import { runPssHmacBench } from "./more";
import { runEcdsaBench } from "./ecdsa";
import { runEd25519Bench } from "./ed25519";
import { runDirectBench } from "./direct";
import { runMemoryBench } from "./memory";
import { runFilterBench } from "./filter";
import { runServeBench } from "./serve";
import { runSizes } from "../scripts/wasm-sizes";

async function main(): Promise<void> {
  // Figures differ between CPUs (the same build measured 1.56x on one and 2.4x on another): say which.
  console.log(`CPU: ${os.cpus()[0]?.model ?? "?"} (${os.cpus().length} logical cores), Node ${process.version}, V8 flags: ${process.execArgv.join(" ") || "(none)"}`);
  console.log("");
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
  runMemoryBench();
  console.log("");
  await runFilterBench();
  console.log("");
  await runServeBench();
  console.log("");
  // Where the bytes of the two deployed builds go (issue 10: each must stay <= 150 KiB).
  runSizes({ top: 20 });
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
