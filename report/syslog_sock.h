/* The local syslog socket both syslog sinks write to (report/syslog_sock.c):
 * our own AF_UNIX client of /dev/log, never openlog() (glibc's one syslog
 * connection and ident belong to the host). */
#ifndef TOKSHIM_REPORT_SYSLOG_SOCK_H
#define TOKSHIM_REPORT_SYSLOG_SOCK_H

#include <sys/un.h>

#include "report/fd_watch.h"

struct syslog_sock {
	struct fd_watch w; /* fd -1 until the first record, and after a disconnect */
	int type;          /* SOCK_DGRAM or SOCK_STREAM once connected */
	struct sockaddr_un addr;
};

/* Points sk at path (NULL or "": "/dev/log"); connects nothing yet. 0, or -1
 * when the path is too long. */
int syslog_sock_init(struct syslog_sock *sk, const char *path);
/* Sends p[0..n) as one message (p[n] must be its NUL, sent too on a
 * stream socket, as glibc does). Connects at the first message (datagram,
 * else stream), reconnects once when a send fails (syslogd restarted). Never
 * blocks (MSG_DONTWAIT | MSG_NOSIGNAL): a full socket loses the message (a
 * stream cut inside a message is closed, to be reopened at the next one). A
 * socket the host closed or replaced is forgotten, not closed. 0, or -1 when
 * the message was lost. */
int syslog_sock_send(struct syslog_sock *sk, const char *p, size_t n);
/* Closes the socket when it is still ours; forgets it in any case. */
void syslog_sock_close(struct syslog_sock *sk);

#endif
