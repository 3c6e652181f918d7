export { type ProcessTable, processTree, readProcessTable } from './process-tree.ts';
export { isRunning, type ProcStat, parseProcStat, readProcStat } from './stat.ts';
