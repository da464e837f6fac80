/*
 * netfs/cli/fs_main.c — stardust-fs: the `stardust fs` command on its own.
 *   stardust-fs [--server HOST:PORT] [--token T] ls|cat|get|put|rm ...
 */
#include "netfs/netfs.h"

int main(int argc, char **argv)
{
	return nfs_cli_main(argc, argv);
}
