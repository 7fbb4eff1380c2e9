/* The server-code table (see server_codes.h). Texts from Twilio's error
 * pages and SDK sources (../shared/TWILIO.md). */
#include "decode/server_codes.h"

#include <stddef.h>

#define NONE CAUSE__COUNT

static const struct server_code table[] = {
	{20101, "Invalid Access Token",
	 "the server could not read the token at all: it was cut, re-encoded or replaced on its way",
	 "pass the token string exactly as the token server returned it", CAUSE_MALFORMED},
	{20102, "Invalid Access Token header",
	 "the server refused the header (alg, cty, typ) although it reads well here",
	 "mint with a Twilio helper library (HS256, cty twilio-fpa;v=1)", CAUSE_HEADER_CTY},
	{20103, "Invalid Access Token issuer/subject",
	 "the API key in 'iss' is unknown to the server: it was deleted, belongs to another account or "
	 "subaccount than 'sub', or is a key of another region",
	 "mint with an API key that exists in the account in 'sub' (Console > API keys), in the region "
	 "the SDK connects to", CAUSE_ISSUER},
	{20104, "Access Token expired or expiration date invalid",
	 "the server's clock says the token expired: this device's clock is probably behind",
	 "sync the device clock (NTP) and mint tokens with enough lifetime left", CAUSE_EXPIRED},
	{20105, "Access Token not yet valid",
	 "the server's clock is before 'nbf': the token server's clock is probably ahead",
	 "sync the token server's clock, or mint without 'nbf'", CAUSE_NOT_YET_VALID},
	{20106, "Invalid Access Token grants",
	 "the server refused the grants: a grant's service, application or room is unknown to it",
	 "mint with the grant of the product in use and SIDs of this account", CAUSE_GRANT_MISSING},
	{20107, "Invalid Access Token signature",
	 "the secret that signed the token is not the API key's current one (the key was recreated, or "
	 "another key's secret was used)",
	 "sign with the API Key Secret of the key in 'iss'; give tokshim the same secret to check it",
	 CAUSE_SIGNATURE},
	{20151, "Authentication Failed",
	 "the server refused the credentials behind the token (a disabled account or key)",
	 "check that the account and the API key are active in the Console", NONE},
	{20154, "Invalid Claim Set", "the server refused a claim that reads well here",
	 "mint with a Twilio helper library", CAUSE_CLAIMS},
	{20157, "Expiration Time Exceeds Maximum Time Allowed",
	 "the server counts the lifetime from another start than here (its clock, or 'iat')",
	 "mint with a ttl of at most 24 hours (3600 s is the default)", CAUSE_TTL_TOO_LONG},
	{31202, "JWT signature validation failed",
	 "the Voice edge could not verify the signature: another key's secret, or a recreated key",
	 "sign with the API Key Secret of the key in 'iss'", CAUSE_SIGNATURE},
	{31203, "No valid account",
	 "the account in 'sub' is not usable by Voice (suspended, closed, or another environment's)",
	 "mint with credentials of an active account", CAUSE_ACCOUNT_MISMATCH},
	{31204, "JWT is invalid",
	 "the Voice edge refused the token: an unknown key or account, or a voice grant it cannot use",
	 "mint with a key of the token's account and a VoiceGrant with an existing TwiML App (AP...)",
	 CAUSE_GRANT_FIELD_INVALID},
	{31205, "JWT token expired",
	 "the Voice edge's clock says the token expired: this device's clock is probably behind, or the "
	 "app kept an old token",
	 "refresh with device.updateToken on tokenWillExpire and sync the device clock", CAUSE_EXPIRED},
	{31206, "Rate exceeded authorized limit",
	 "too many registrations with this token's identity or account",
	 "back off and register less often", NONE},
	{31207, "JWT token expiration too long",
	 "the Voice edge counts the lifetime otherwise than here", "mint with a ttl of at most 24 hours",
	 CAUSE_TTL_TOO_LONG},
	{51103, "No grants section in token", "the server found no grants it can use",
	 "add a ChatGrant or SyncGrant", CAUSE_GRANTS_MISSING},
	{51104, "Service instance not found",
	 "the service_sid in the grant does not exist in this account (deleted, another account's, "
	 "another region's)",
	 "put the SID of an existing Conversations or Sync service of the token's account in the grant",
	 CAUSE_GRANT_FIELD_INVALID},
	{51105, "No identity in token", "the server found no identity", "set the token's identity",
	 CAUSE_IDENTITY_MISSING},
	{51106, "Product does not match the service instance",
	 "the service_sid is a service of another product (a Sync service in a ChatGrant, or the reverse)",
	 "put the Conversations service's SID in the ChatGrant and the Sync service's in the SyncGrant",
	 CAUSE_GRANT_FIELD_INVALID},
	{51110, "Several grants of one product", "the token holds two grants for one product",
	 "mint with one grant per product", NONE},
	{51114, "Invalid token header", "the Twilsock server refused the header",
	 "mint with a Twilio helper library", CAUSE_HEADER_CTY},
	{51115, "Invalid token subject",
	 "the Twilsock server does not know the account in 'sub', or the key is of another account",
	 "mint with the account and an API key of that same account", CAUSE_ACCOUNT_MISMATCH},
	{51116, "Invalid token grants", "the Twilsock server refused the grants",
	 "mint with a ChatGrant or SyncGrant naming an existing service", CAUSE_GRANT_MISSING},
	{51117, "Invalid token signature",
	 "the secret that signed the token is not the API key's current one",
	 "sign with the API Key Secret of the key in 'iss'", CAUSE_SIGNATURE},
	{51118, "Invalid token claim set", "the Twilsock server refused a claim",
	 "mint with a Twilio helper library", CAUSE_CLAIMS},
	{51119, "Token expired",
	 "the Twilsock server's clock says the token expired: this device's clock is probably behind",
	 "refresh with updateToken on tokenAboutToExpire and sync the device clock", CAUSE_EXPIRED},
	{51120, "Token not valid yet", "the server's clock is before 'nbf'",
	 "sync the token server's clock, or mint without 'nbf'", CAUSE_NOT_YET_VALID},
	{51121, "Token expiration exceeds maximum", "the server counts the lifetime otherwise than here",
	 "mint with a ttl of at most 24 hours", CAUSE_TTL_TOO_LONG},
	{51207, "Token expired", "the connection's token expired and no new one was sent",
	 "call updateToken on tokenAboutToExpire", CAUSE_REFRESH_MISSING},
	{51214, "Not acceptable message", "the server refused the message that carried the token",
	 "report it: the SDK sent a message the server could not read", NONE},
	{51215, "Unauthorized",
	 "the server refused the token for this connection: an update for another identity, service or "
	 "account than init's, or a key it does not know",
	 "refresh with a token for the same identity and service, minted with a key of the account",
	 CAUSE_UPDATE_MISMATCH},
	{51232, "Update forbidden", "the server does not let this connection change its token",
	 "open a new connection with the new token", NONE},
};

const struct server_code *server_code_find(int code)
{
	for (size_t i = 0; i < sizeof table / sizeof *table; i++)
		if (table[i].code == code)
			return &table[i];
	return NULL;
}

int server_code_is_token(int code)
{
	return (code >= 20101 && code <= 20157) || (code >= 31202 && code <= 31207) ||
	       (code >= 51000 && code <= 51999);
}

const struct server_code *server_codes(size_t *n)
{
	*n = sizeof table / sizeof *table;
	return table;
}
