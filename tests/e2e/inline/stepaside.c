/* stepaside: calls a function named like a TLS write (mbedtls_ssl_write)
 * whose entry cannot be patched, defined in the program itself: on x86-64
 * too short (three bytes: mov %edx,%eax; ret); on AArch64 a branch back into
 * its first instruction (the bytes the patch would replace). The shim must step aside (one info
 * line at TOKSHIM_LEVEL=info) and the call must behave as without it.
 * Prints the function's return value. */
#include <stdio.h>
#include <string.h>

int mbedtls_ssl_write(void *ssl, const unsigned char *buf, size_t len);
#if defined(__x86_64__)
__asm__(".text\n.globl mbedtls_ssl_write\n.type mbedtls_ssl_write,@function\n"
	"mbedtls_ssl_write:\n\tmov %edx, %eax\n\tret\n.size mbedtls_ssl_write, .-mbedtls_ssl_write\n");
#elif defined(__aarch64__)
__asm__(".text\n.globl mbedtls_ssl_write\n.type mbedtls_ssl_write,%function\n"
	"mbedtls_ssl_write:\n\tmov w0, w2\n\tcmp w0, #0\n\tb.lt mbedtls_ssl_write\n\tret\n"
	".size mbedtls_ssl_write, .-mbedtls_ssl_write\n");
#else
int mbedtls_ssl_write(void *ssl, const unsigned char *buf, size_t len)
{
	(void)ssl, (void)buf;
	return (int)len;
}
#endif

int main(void)
{
	const char *msg = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	int r = mbedtls_ssl_write(NULL, (const unsigned char *)msg, strlen(msg));
	printf("mbedtls_ssl_write returned %d\n", r);
	return r == (int)strlen(msg) ? 0 : 1;
}
