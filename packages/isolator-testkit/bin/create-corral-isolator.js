#!/usr/bin/env node
import { main } from '../dist/scaffold-cli.js';

process.exitCode = main(process.argv.slice(2), {
  // Package-manager scripts run from the package root; INIT_CWD is where the user typed the command.
  cwd: process.env.INIT_CWD ?? process.cwd(),
  out: (line) => console.log(line),
  err: (line) => console.error(line),
});
