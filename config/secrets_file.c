#include "config/secrets_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "decode/cold.h"

TK_COLD enum secrets_status secrets_file_load(struct keyring *kr, const char *path, struct tk_error *err)
{
	/* O_NONBLOCK: a FIFO (or a device) must not hang the caller, above all a
	 * host at load; a regular file reads the same either way */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT || e == ENOTDIR || e == ENAMETOOLONG || e == EINVAL) {
			tk_error_set(err, "no such file (a secret put in the wrong variable? the value is not shown)");
			return SECRETS_MISSING;
		}
		if (e == ELOOP) {
			tk_error_set(err, "a symbolic link: name the file itself");
			return SECRETS_SYMLINK;
		}
		tk_error_set(err, "cannot open: %s", strerror(e));
		return SECRETS_UNREADABLE;
	}
	struct stat st;
	enum secrets_status rc = SECRETS_OK;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		tk_error_set(err, "not a regular file");
		rc = SECRETS_NOT_REGULAR;
	} else if (st.st_uid != geteuid() && st.st_uid != 0) {
		tk_error_set(err, "owned by uid %u, not by this user (uid %u) nor root", (unsigned)st.st_uid,
			     (unsigned)geteuid());
		rc = SECRETS_OWNER;
	} else if (st.st_mode & 077) {
		tk_error_set(err, "mode %04o is looser than 0600: other users can read it (chmod 600 it)",
			     (unsigned)(st.st_mode & 07777));
		rc = SECRETS_MODE;
	} else if (st.st_size > SECRETS_FILE_MAX) {
		tk_error_set(err, "larger than %d bytes", SECRETS_FILE_MAX);
		rc = SECRETS_TOO_LARGE;
	}
	if (rc != SECRETS_OK) {
		close(fd);
		return rc;
	}
	/* one byte more than the size: a file that grew is read to the cap */
	size_t cap = (size_t)st.st_size + 1, len = 0;
	char *buf = malloc(cap);
	int bad = !buf;
	while (!bad && len < cap) {
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			bad = n < 0;
			break;
		}
		len += (size_t)n;
	}
	int saved = errno;
	close(fd);
	if (bad) {
		tk_error_set(err, "cannot read: %s", buf ? strerror(saved) : "out of memory");
		free(buf);
		return SECRETS_UNREADABLE;
	}
	if (keyring_add_lines(kr, buf, len, err) < 0)
		rc = SECRETS_BAD_LINE;
	explicit_bzero(buf, cap);
	free(buf);
	return rc;
}
