// Every CLI command, in the order `tsnas --help` lists them.
import type { Command } from '../command.js';
import { trainCommand } from './train.js';

export const commands: Command[] = [trainCommand];
