// The console tests' steps: each polls until what it waits for is there, and is reported with
// its time since the start (report.steps), or fails with what it waited for.
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** An `until(what, fn, ms)` that pushes passed steps onto `report.steps`. */
export function stepper(report) {
  const t0 = Date.now();
  /**
   * Polls `fn` every `every` ms until it returns a truthy value, or fails the step after `ms`
   * (each poll of a page is a round trip through a browser that may be starved: a crowd polls
   * less often).
   */
  return async function until(what, fn, ms = 8000, every = 100) {
    ms *= 2;  // room for a loaded CI machine: a step that works takes well under the base time
    const end = Date.now() + ms;
    for (;;) {
      // One call may not outlast the step: a starved or crashed page's call can hang for minutes.
      let timer;
      const late = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms inside a call: ${what}`)), Math.max(0, end - Date.now()) + 1000);
      });
      const v = await Promise.race([fn(), late]).finally(() => clearTimeout(timer));
      if (v) { report.steps.push(`${what} (${((Date.now() - t0) / 1000).toFixed(1)} s)`); return v; }
      if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${what}`);
      await sleep(every);
    }
  };
}
