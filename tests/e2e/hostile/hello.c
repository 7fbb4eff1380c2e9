/* write(2) returns what it should and keeps errno. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	errno = 0;
	ssize_t r = write(1, "hello\n", 6);
	int e = errno;
	fprintf(stderr, "write returned %zd errno=%s\n", r, strerror(e));
	return r == 6 && e == 0 ? 0 : 1;
}
