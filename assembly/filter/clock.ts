// Owns the filter's notion of now: the host's wall clock, in seconds and in milliseconds.
import { get_current_time_nanoseconds } from "@solo-io/proxy-runtime/assembly/runtime";

export function nowSeconds(): f64 {
  return <f64>get_current_time_nanoseconds() / 1e9;
}

export function nowMs(): f64 {
  return <f64>get_current_time_nanoseconds() / 1e6;
}
