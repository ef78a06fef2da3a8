// The WASI preview1 functions Envoy registers (for both wasi_snapshot_preview1 and wasi_unstable),
// with Envoy's answers: stdout/stderr go to the log (info/error), clocks and random work, there is
// no file system, argv and environ are empty. proc_exit traps the module (the host's choice, see
// the report: Envoy logs it and returns, and AS then traps on the following `unreachable`).

import { randomFillSync } from "node:crypto";
import { LogLevel, WASI_RANDOM_GET_MAX_BYTES, WasiErrno } from "./abi/constants";
import type { WasmVm } from "./vm";
import { wasmLogSource } from "./log";
import { WasmTrap } from "./traps";

type Impl = (...args: never[]) => number | void;

export function wasiImports(vm: WasmVm): Record<string, Impl> {
  const ok = (written: boolean): number => (written ? WasiErrno.SUCCESS : WasiErrno.FAULT);
  const stdio = (fd: number): boolean => fd === 1 || fd === 2;
  const prefix = vm.plugin.logPrefix;

  /** writevImpl: gathers the iovecs and logs them (one trailing newline removed). */
  const writev = (fd: number, iovs: number, iovsLen: number): number | { written: number } => {
    if (!stdio(fd)) return WasiErrno.BADF;
    const parts: Buffer[] = [];
    for (let i = 0; i < iovsLen >>> 0; i++) {
      const vec = vm.read(iovs + i * 8, 8);
      if (!vec) return WasiErrno.FAULT;
      const len = vec.readUInt32LE(4);
      if (len === 0) continue;
      const data = vm.read(vec.readUInt32LE(0), len);
      if (!data) return WasiErrno.FAULT;
      parts.push(data);
    }
    const all = Buffer.concat(parts);
    if (all.length > 0) {
      let text = all.toString("utf8");
      if (text.endsWith("\n")) text = text.slice(0, -1);
      const level = fd === 1 ? LogLevel.info : LogLevel.error;
      vm.logger.log(level, `${prefix}: ${text}`, wasmLogSource(level));
    }
    return { written: all.length };
  };

  return {
    fd_write(fd: number, iovs: number, iovsLen: number, nwrittenPtr: number): number {
      const r = writev(fd, iovs, iovsLen);
      if (typeof r === "number") return r;
      return ok(vm.writeU32(nwrittenPtr, r.written));
    },
    fd_pwrite(fd: number, iovs: number, iovsLen: number, _offset: bigint, nwrittenPtr: number): number {
      const r = writev(fd, iovs, iovsLen);
      if (typeof r === "number") return r;
      return ok(vm.writeU32(nwrittenPtr, r.written));
    },
    fd_read: () => WasiErrno.NOSYS,
    fd_pread: () => WasiErrno.NOSYS,
    fd_seek: () => WasiErrno.SUCCESS,
    fd_close: () => WasiErrno.SUCCESS,
    fd_fdstat_get(fd: number, statPtr: number): number {
      if (!stdio(fd)) return WasiErrno.BADF;
      const stat = Buffer.alloc(24);
      stat.writeBigUInt64LE(64n, 8); // fs_rights_base = __WASI_RIGHTS_FD_WRITE
      vm.write(statPtr, stat);
      return WasiErrno.SUCCESS;
    },
    fd_fdstat_set_flags: () => WasiErrno.NOSYS,
    fd_fdstat_set_rights: (fd: number) => (stdio(fd) ? WasiErrno.SUCCESS : WasiErrno.BADF),
    fd_advise: () => WasiErrno.SUCCESS,
    fd_allocate: (fd: number) => (stdio(fd) ? WasiErrno.SUCCESS : WasiErrno.BADF),
    fd_datasync: (fd: number) => (stdio(fd) ? WasiErrno.SUCCESS : WasiErrno.BADF),
    fd_sync: (fd: number) => (stdio(fd) ? WasiErrno.SUCCESS : WasiErrno.BADF),
    fd_filestat_set_size: (fd: number) => (stdio(fd) ? WasiErrno.SUCCESS : WasiErrno.BADF),
    fd_filestat_set_times: (fd: number) => (stdio(fd) ? WasiErrno.SUCCESS : WasiErrno.BADF),
    fd_filestat_get: () => WasiErrno.BADF,
    fd_readdir(_fd: number, _buf: number, _len: number, _cookie: bigint, nreadPtr: number): number {
      if (!vm.writeU32(nreadPtr, 0)) return WasiErrno.FAULT;
      return WasiErrno.NOTDIR;
    },
    fd_renumber: (fd: number, to: number) => (stdio(fd) && stdio(to) ? WasiErrno.NOTSUP : WasiErrno.BADF),
    fd_tell(fd: number, resultPtr: number): number {
      if (!stdio(fd)) return WasiErrno.BADF;
      return ok(vm.writeU64(resultPtr, 0n));
    },
    fd_prestat_get: () => WasiErrno.BADF,
    fd_prestat_dir_name: () => WasiErrno.NOSYS,
    path_open: () => WasiErrno.NOENT,
    path_filestat_get: () => WasiErrno.NOTSUP,
    path_create_directory: () => WasiErrno.NOTSUP,
    path_filestat_set_times: () => WasiErrno.NOTSUP,
    path_link: () => WasiErrno.NOTSUP,
    path_readlink(_fd: number, _p: number, _pl: number, _buf: number, _bl: number, resultPtr: number): number {
      if (!vm.writeU32(resultPtr, 0)) return WasiErrno.FAULT;
      return WasiErrno.NOTSUP;
    },
    path_remove_directory: () => WasiErrno.NOTSUP,
    path_rename: () => WasiErrno.NOTSUP,
    path_symlink: () => WasiErrno.NOTSUP,
    path_unlink_file: () => WasiErrno.NOTSUP,
    sock_accept(_fd: number, _flags: number, resultPtr: number): number {
      if (!vm.writeU64(resultPtr, 0n)) return WasiErrno.FAULT;
      return WasiErrno.NOTSUP;
    },
    sock_recv(_fd: number, _ri: number, _rl: number, _flags: number, sizePtr: number, flagsPtr: number): number {
      if (!vm.writeU32(sizePtr, 0)) return WasiErrno.FAULT;
      if (!vm.write(flagsPtr, Buffer.alloc(2))) return WasiErrno.FAULT;
      return WasiErrno.NOTSUP;
    },
    sock_send(_fd: number, _si: number, _sl: number, _flags: number, sizePtr: number): number {
      if (!vm.writeU32(sizePtr, 0)) return WasiErrno.FAULT;
      return WasiErrno.NOTSUP;
    },
    sock_shutdown: () => WasiErrno.NOTSUP,
    environ_sizes_get(countPtr: number, sizePtr: number): number {
      if (!vm.writeU32(countPtr, 0)) return WasiErrno.FAULT;
      return ok(vm.writeU32(sizePtr, 0));
    },
    environ_get: () => WasiErrno.SUCCESS,
    args_sizes_get(argcPtr: number, sizePtr: number): number {
      if (!vm.writeU32(argcPtr, 0)) return WasiErrno.FAULT;
      return ok(vm.writeU32(sizePtr, 0));
    },
    args_get: () => WasiErrno.SUCCESS,
    clock_time_get(clockId: number, _precision: bigint, resultPtr: number): number {
      let t: bigint;
      // proxy-wasm-cpp-host: realtime is getCurrentTimeNanoseconds (the same clock as
      // proxy_get_current_time_nanoseconds), monotonic getMonotonicTimeNanoseconds; both are the
      // gateway's clock here, so advanceClock and the manual clock move them too.
      if (clockId === 0) t = vm.services.clock.nowNs();
      else if (clockId === 1) t = vm.services.clock.monotonicNs();
      else return WasiErrno.NOTSUP;
      return ok(vm.writeU64(resultPtr, t));
    },
    clock_res_get(clockId: number, resultPtr: number): number {
      if (clockId !== 0 && clockId !== 1) return WasiErrno.NOTSUP;
      return ok(vm.writeU64(resultPtr, 1n));
    },
    random_get(ptr: number, len: number): number {
      len >>>= 0;
      if (len > WASI_RANDOM_GET_MAX_BYTES) return WasiErrno.INVAL;
      if (len === 0) return WasiErrno.SUCCESS;
      const buf = Buffer.alloc(len);
      randomFillSync(buf);
      return ok(vm.write(ptr, buf));
    },
    sched_yield: () => WasiErrno.SUCCESS,
    poll_oneoff(_in: number, _out: number, _n: number, neventsPtr: number): number {
      return ok(vm.writeU32(neventsPtr, 0));
    },
    proc_exit(code: number): void {
      throw new WasmTrap(`proc_exit(${code >>> 0})`);
    },
  };
}
