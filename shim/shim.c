/* libtokshim.so: hooks come in shim/ files of their own (issue 4). */
