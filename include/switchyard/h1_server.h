/*
 * h1_server.h - the HTTP/1.1 server session attached to a downstream
 * connection (src/http1/h1_server.c).
 */
#ifndef SWITCHYARD_H1_SERVER_H
#define SWITCHYARD_H1_SERVER_H

struct sy_conn;

/* Attach an HTTP/1.1 server session to c.  0, or -1 on ENOMEM. */
int sy_h1_server_attach(struct sy_conn *c);

#endif
