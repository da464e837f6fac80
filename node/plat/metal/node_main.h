/*
 * node/plat/metal/node_main.h — the image's equivalent of the hosted
 * `stardust-node` main: the node configuration from the kernel command line,
 * then node/core's loop.
 *
 *   if (metal_node_wanted()) metal_node_run();   from boot_main, last
 *
 * Keys (docs/node-image.md): name= (required) region= zone= label=K=V
 * (repeatable, up to NODE_LABELS_MAX) coordinator=HOST:PORT token=
 * memory=SIZE (K/M/G suffix; the plat_alloc budget) slots=N listen=PORT
 * (data port, default 7070) advertise=HOST (default: the ip= address)
 * localhost=A.B.C.D (connections to 127.0.0.1 go there: the host, 10.0.2.2,
 * under QEMU user networking).
 */
#ifndef SD_METAL_NODE_MAIN_H
#define SD_METAL_NODE_MAIN_H

#include <stdbool.h>

/* True when the command line names a node (name=). */
bool metal_node_wanted(void);

/* Runs the node until it stops; exits QEMU (33 clean, 35 on an error). */
_Noreturn void metal_node_run(void);

#endif /* SD_METAL_NODE_MAIN_H */
