/* The one product decision: which Twilio product a token is judged for
 * (the grant it must carry), from the configuration, the channel the token
 * travels on, the host and the token's grants. The wire decoder (its
 * events), the session and the validator all ask here. Pure. */
#ifndef TOKSHIM_PRODUCT_H
#define TOKSHIM_PRODUCT_H

#include <stdint.h>

#include "decode/diag.h"

/* grants for product_choose before the token is read: the grants decide nothing */
#define PRODUCT_GRANTS_UNREAD UINT32_MAX

struct product_ask {
	enum product configured; /* --product / the session's setting; PRODUCT_UNKNOWN: auto */
	enum product host;       /* what the host names (a TOKSHIM_HOSTS rule), PRODUCT_UNKNOWN none */
	enum channel channel;    /* where the token was sent; CHANNEL_UNKNOWN also for a bare token */
	int session;             /* a token sent on a connection, not a bare one (`check`) */
	int wrapped;             /* the token came wrapped (wrong_format): its grants choose nothing */
};

/* The product, in this order: the configured one; the host's; the
 * channel's (Voice, SIP: voice; Video: video); for a bare or wrapped token,
 * the one product grant present, not demanded; on Twilsock, which carries
 * Conversations and Sync only, conversations for a chat (or ip_messaging)
 * grant, sync for a data_sync grant, PRODUCT_UNKNOWN for both, and
 * conversations, not demanded, for neither (the Twilsock grant rule,
 * rules_twilsock_grant, says what is missing); on another channel, the one
 * product grant present. *demand (may be NULL): 1 when the product's grant
 * is required. grants: GRANT_MASK() bits, or PRODUCT_GRANTS_UNREAD. */
enum product product_choose(const struct product_ask *a, uint32_t grants, int *demand);

/* The grants Twilsock accepts: chat, ip_messaging, data_sync. */
#define PRODUCT_TWILSOCK_GRANTS (GRANT_MASK(CHAT) | GRANT_MASK(IP_MESSAGING) | GRANT_MASK(DATA_SYNC))

#endif
