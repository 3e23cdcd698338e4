/**
 * Reading a V8 CPU profile (the DevTools Profiler domain's `Profile`, as workerd's inspector returns it) for
 * `npm run profile`: self time by function and by source file, and which of the Worker's functions called each of
 * the runtime's own (fetch, SQL exec, timers), whose self time is otherwise anonymous. Plain functions, so the
 * tables are tested against profiles built by hand (test/scripts/lib/cpu-profile.test.ts).
 */

export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

export interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

export interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  /** µs before each sample; the first is the time before the first sample, so sample i lasted timeDeltas[i + 1]. */
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Where a frame is, for the tables: its source file, and `file:line name`. */
export type Locate = (frame: CallFrame) => { file: string; where: string };

/** The Worker's own code: frames in the bundle. */
export type IsOwn = (frame: CallFrame) => boolean;

export interface ProfileTables {
  /** µs of samples that ran something (idle excluded). */
  busyUs: number;
  idleUs: number;
  bySelf: Map<string, number>;
  byFile: Map<string, number>;
  /** `runtime function ← the Worker's function that called it` → µs. */
  runtimeCallers: Map<string, number>;
}

/** V8's pseudo-frames: not a function of anyone's. */
const PSEUDO = new Set(["(idle)", "(program)", "(garbage collector)", "(root)"]);

const add = (map: Map<string, number>, key: string, us: number) => map.set(key, (map.get(key) ?? 0) + us);

export function profileTables(profile: Profile, locate: Locate, isOwn: IsOwn): ProfileTables {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const selfUs = new Map<number, number>();
  profile.samples.forEach((nodeId, i) => selfUs.set(nodeId, (selfUs.get(nodeId) ?? 0) + (profile.timeDeltas[i + 1] ?? 0)));

  const tables: ProfileTables = { busyUs: 0, idleUs: 0, bySelf: new Map(), byFile: new Map(), runtimeCallers: new Map() };
  for (const [nodeId, us] of selfUs) {
    const node = byId.get(nodeId);
    if (!node) continue;
    if (node.callFrame.functionName === "(idle)") {
      tables.idleUs += us;
      continue;
    }
    tables.busyUs += us;
    const { file, where } = locate(node.callFrame);
    add(tables.bySelf, where, us);
    add(tables.byFile, file, us);
    // A runtime function (no script URL): charged to the nearest of the Worker's own functions above it.
    if (node.callFrame.url || PSEUDO.has(node.callFrame.functionName)) continue;
    let parent = byId.get(parentOf.get(nodeId) ?? -1);
    while (parent && !isOwn(parent.callFrame)) parent = byId.get(parentOf.get(parent.id) ?? -1);
    add(tables.runtimeCallers, `${node.callFrame.functionName} ← ${parent ? locate(parent.callFrame).where : "(top)"}`, us);
  }
  return tables;
}

/** The `rows` largest entries, largest first. */
export function largest(map: Map<string, number>, rows: number): [string, number][] {
  return [...map].sort((a, b) => b[1] - a[1]).slice(0, rows);
}
