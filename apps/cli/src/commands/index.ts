// Every command of the CLI, in the order `porthole --help` lists them.
import type { Command } from '../command.js';
import { login, logout, whoami } from './account.js';
import { deviceCommands } from './devices.js';
import { linkCommands } from './links.js';
import { log } from './log.js';
import { organizationCommands } from './orgs.js';
import { peerCommands } from './peers.js';
import { reservationCommands } from './reservations.js';
import { ssh } from './ssh.js';
import { tcp } from './tcp.js';
import { tokenCommands } from './tokens.js';
import { wgConfig } from './wg-config.js';

export const allCommands: readonly Command[] = [login, logout, whoami, ...deviceCommands, ...linkCommands, ...organizationCommands, ...tokenCommands, ...reservationCommands, log, wgConfig, ...peerCommands, tcp, ssh];
