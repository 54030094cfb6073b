// Runs the workload groups over the systems, alternating: for each group and repetition every
// system takes its turn before the next repetition, and the order rotates per repetition, so
// slow drifts of this shared machine hit every system alike.

/** The systems in the order they run in repetition `rep` (1-based): rotated by rep - 1. */
export function orderFor(items, rep) {
  const k = (rep - 1) % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

const describe = (r) =>
  r.status === 'ok'
    ? Object.entries(r.metrics)
        .filter(([, v]) => typeof v === 'number')
        .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(1)}`)
        .join(' ')
    : `${r.status}${r.note ? ` (${r.note})` : ''}`;

/** Runs `groups` over `drivers`; `onResult` sees each record as it arrives. Resolves with every record. */
export async function runSuite({ drivers, groups, reps, log, onResult = () => {} }) {
  const results = [];
  for (const group of groups) {
    const n = group.reps === 'first' ? 1 : reps;
    for (let rep = 1; rep <= n; rep++) {
      for (const d of orderFor(drivers, rep)) {
        if (!d.supports(group)) continue;
        if (group.only && group.only !== d.id) {
          // Said in the table, so a side-by-side run does not read as a forgotten or failed tool.
          for (const w of group.workloads) {
            const r = { system: d.id, workload: w, rep, status: 'n/a', metrics: {}, note: `not run: ${group.only === 'wizard' ? 'Wizard' : group.only} alone` };
            results.push(r);
            onResult(r);
          }
          log(`${d.id} ${group.name}: ${results.at(-1).note}`);
          continue;
        }
        log(`${d.id} ${group.name} rep ${rep}/${n} ...`);
        const t0 = Date.now();
        const recs = await d.runGroup(group, rep);
        for (const r of recs) {
          results.push(r);
          onResult(r);
          log(`  ${r.system} ${r.workload} rep ${r.rep}: ${describe(r)}`);
        }
        log(`  (${d.id} ${group.name} took ${((Date.now() - t0) / 1000).toFixed(1)} s with setup)`);
      }
    }
  }
  return results;
}
