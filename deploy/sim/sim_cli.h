/*
 * deploy/sim/sim_cli.h — `stardust sim ...` for the stardust CLI (module
 * prefix sim_cli_).
 *
 *   int sim_cli_main(int argc, char **argv);
 *
 * argv[0] is "sim" (or anything), argv[1..] the simulation's arguments
 * (up/status/down/ctl/exec/env; docs/simulation.md). It replaces the process
 * with the stardust-sim script, found as $STARDUST_SIM, else
 * <directory of the running program>/../deploy/sim/stardust-sim (the build
 * tree: coordinator/stardust -> deploy/sim/stardust-sim), else
 * <that directory>/stardust-sim (an install), else stardust-sim on $PATH.
 * Returns only on failure: 1 after printing why.
 */
#ifndef SD_DEPLOY_SIM_SIM_CLI_H
#define SD_DEPLOY_SIM_SIM_CLI_H

int sim_cli_main(int argc, char **argv);

#endif
