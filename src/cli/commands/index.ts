// Every CLI command, in the order `tsnas --help` lists them.
import type { Command } from '../command.js';
import { trainCommand } from './train.js';
import { benchStepCommand } from './bench.js';
import { mainCommand } from './main.js';
import { searchCommand } from './search.js';
import { proxiesCommand } from './proxies.js';

export const commands: Command[] = [mainCommand, trainCommand, benchStepCommand, searchCommand, proxiesCommand];
