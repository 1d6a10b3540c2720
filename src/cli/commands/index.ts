// Every CLI command, in the order `tsnas --help` lists them.
import type { Command } from '../command.js';
import { trainCommand } from './train.js';
import { benchLatencyCommand, benchStepCommand } from './bench.js';
import { mainCommand } from './main.js';
import { searchCommand } from './search.js';
import { initCommand } from './init.js';
import { lsCommand } from './ls.js';
import { showCommand } from './show.js';
import { reportCommand } from './report.js';
import { dartsCommand } from './darts.js';
import { proxiesCommand } from './proxies.js';
import { spaceCommands } from './space.js';
import { dashboardCommand } from './dashboard.js';
import { exportCommand } from './export.js';
import { workerCommand } from './worker.js';

export const commands: Command[] = [mainCommand, trainCommand, benchStepCommand, benchLatencyCommand, searchCommand, proxiesCommand];
commands.push(initCommand, lsCommand, showCommand, reportCommand);
commands.push(dartsCommand);
commands.push(...spaceCommands);
commands.push(dashboardCommand);
commands.push(exportCommand);
commands.push(workerCommand);
