/* struct json_tok alone, for headers that embed token arrays (decode/
 * validate.h's struct validate_work) without the rest of decode/json.h,
 * whose JSON_* names clash with jansson's in files that use both. */
#ifndef TOKSHIM_JSON_TOK_H
#define TOKSHIM_JSON_TOK_H

#include <stdint.h>

/* One value. Object members are a key (a string token) followed by its value.
 * Strings: [start, end) excludes the quotes. Others: the value's bytes. */
struct json_tok {
	uint32_t start, end;
	uint32_t after;  /* index of the first token after this value's subtree */
	uint16_t size;   /* object: members; array: elements; else 0 */
	uint8_t type;    /* enum json_type (decode/json.h) */
	uint8_t flags;   /* JSON_F_* (decode/json.h) */
};

#endif
