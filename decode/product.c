/* The one product decision (decode/product.h). */
#include "decode/product.h"

/* The single product grant present; PRODUCT_UNKNOWN for none or several. */
static enum product by_grants(uint32_t g)
{
	int n = 0;
	enum product p = PRODUCT_UNKNOWN;
	if (g & (GRANT_MASK(CHAT) | GRANT_MASK(IP_MESSAGING)))
		n++, p = PRODUCT_CONVERSATIONS;
	if (g & GRANT_MASK(DATA_SYNC))
		n++, p = PRODUCT_SYNC;
	if (g & GRANT_MASK(VOICE))
		n++, p = PRODUCT_VOICE;
	if (g & GRANT_MASK(VIDEO))
		n++, p = PRODUCT_VIDEO;
	return n == 1 ? p : PRODUCT_UNKNOWN;
}

static enum product choose(const struct product_ask *a, uint32_t g, int *demand)
{
	*demand = 1;
	if (a->configured != PRODUCT_UNKNOWN)
		return a->configured;
	if (a->host != PRODUCT_UNKNOWN)
		return a->host;
	switch (a->channel) {
	case CHANNEL_VOICE:
	case CHANNEL_SIP:
		return PRODUCT_VOICE;
	case CHANNEL_VIDEO:
		return PRODUCT_VIDEO;
	default:
		break;
	}
	if (g == PRODUCT_GRANTS_UNREAD) {
		*demand = 0;
		return PRODUCT_UNKNOWN;
	}
	if (a->session && a->channel == CHANNEL_TWILSOCK) {
		int chat = (g & (GRANT_MASK(CHAT) | GRANT_MASK(IP_MESSAGING))) != 0;
		int sync = (g & GRANT_MASK(DATA_SYNC)) != 0;
		if (!chat && !sync) {
			*demand = 0; /* the Twilsock grant rule names what is missing */
			return PRODUCT_CONVERSATIONS;
		}
		if (!a->wrapped && chat != sync)
			return chat ? PRODUCT_CONVERSATIONS : PRODUCT_SYNC;
	}
	*demand = a->session && !a->wrapped;
	enum product p = by_grants(g);
	if (p == PRODUCT_UNKNOWN || a->channel == CHANNEL_TWILSOCK)
		*demand = 0;
	return p;
}

enum product product_choose(const struct product_ask *a, uint32_t grants, int *demand)
{
	int d;
	enum product p = choose(a, grants, &d);
	if (demand)
		*demand = d;
	return p;
}
