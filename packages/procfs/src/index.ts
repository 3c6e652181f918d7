export {
  type ProcessTable,
  processTree,
  readProcessTable,
  readProcessTableSliced,
} from './process-tree.ts';
export { isRunning, type ProcStat, parseProcStat, readProcStat } from './stat.ts';
