/* The codes Twilio's servers answer a token with, kept beside the cause
 * vocabulary (decode/diag.h): for each, what it means, what the token alone
 * could not show, and the fix. Used to explain server_rejected. Pure data. */
#ifndef TOKSHIM_SERVER_CODES_H
#define TOKSHIM_SERVER_CODES_H

#include "decode/diag.h"

struct server_code {
	int code;
	const char *meaning;  /* Twilio's own words ("Invalid Access Token issuer/subject") */
	const char *explain;  /* what the server saw that the token alone cannot show */
	const char *fix;
	enum cause_id cause;  /* the nearest local cause, CAUSE__COUNT: none */
};

/* The entry for code, NULL when the code is not one of the table's. */
const struct server_code *server_code_find(int code);
/* Non-zero for an error code about the token (20101-20157, 31202-31207,
 * 51xxx): what makes a Voice or Video error message an answer. */
int server_code_is_token(int code);
/* The table, for documentation and tests: *n entries. */
const struct server_code *server_codes(size_t *n);

#endif
