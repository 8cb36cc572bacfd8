// What else the machine was doing: load averages, and CPU time of the whole
// machine (from /proc/stat) against the CPU time of the processes measured, so
// a noisy figure shows as "other processes used N cores meanwhile".
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';

export const cores = typeof availableParallelism === 'function' ? availableParallelism() : cpus().length;

export function loadAverages() {
  return loadavg().map((value) => Number(value.toFixed(2)));
}

const procStat = '/proc/stat';
const clockTicksPerSecond = 100; // USER_HZ, 100 on every Linux ABI node supports

/** Busy CPU time of the whole machine in ms (null where /proc/stat is missing). */
export function machineBusyMs() {
  if (!existsSync(procStat)) return null;
  const fields = readFileSync(procStat, 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal …: all but idle and iowait are busy.
  const busy = fields.reduce((sum, value, i) => (i === 3 || i === 4 || i > 7 ? sum : sum + value), 0);
  return (busy * 1000) / clockTicksPerSecond;
}

/**
 * Starts a measurement window; `stop(extraOwnCpuMs)` returns wall time, this
 * process's CPU cores, and the cores everything else on the machine used
 * (minus extraOwnCpuMs, e.g. a child server's CPU time measured separately).
 */
export function cpuWindow() {
  const wallStart = performance.now();
  const ownStart = process.cpuUsage();
  const machineStart = machineBusyMs();
  return {
    stop(extraOwnCpuMs = 0) {
      const wallMs = performance.now() - wallStart;
      const own = process.cpuUsage(ownStart);
      const ownMs = (own.user + own.system) / 1000;
      const machineEnd = machineBusyMs();
      const machineCores = machineStart === null ? null : (machineEnd - machineStart) / wallMs;
      return {
        wallMs,
        ownCores: ownMs / wallMs,
        machineCores,
        othersCores: machineCores === null ? null : Math.max(0, machineCores - (ownMs + extraOwnCpuMs) / wallMs),
      };
    },
  };
}
