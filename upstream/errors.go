package upstream

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
)

// failure is why a request got no usable answer, in two forms: words for
// the tile's error, which clients see and which therefore never name a URL,
// host or address, and a short label for Observe.
type failure struct {
	reason string
	result string
}

// The transport failures, tried in order: the first whose test matches names
// the error. The words come from this table, never from err.Error(), which
// carries URLs and addresses.
var failures = []struct {
	is func(error) bool
	failure
}{
	{isErr(errOffHost), failure{errOffHost.Error(), "redirect_off_host"}},
	{isErr(errRedirectLoop), failure{errRedirectLoop.Error(), "redirect_loop"}},
	{isErr(errManyRedirects), failure{errManyRedirects.Error(), "too_many_redirects"}},
	{isErr(syscall.ECONNREFUSED), failure{"connection refused", "refused"}},
	{isErr(syscall.ECONNRESET), failure{"connection reset", "reset"}},
	{isErr(syscall.EPIPE), failure{"connection reset", "reset"}},
	{isErr(syscall.EHOSTUNREACH), failure{"host unreachable", "unreachable"}},
	{isErr(syscall.ENETUNREACH), failure{"network unreachable", "unreachable"}},
	{isErr(io.ErrUnexpectedEOF), failure{"answer cut short", "truncated"}},
	{isErr(io.EOF), failure{"connection closed without an answer", "closed"}},
	{as[*net.DNSError], failure{"host name not resolved", "dns"}},
	{isTLS, failure{"TLS handshake failed", "tls"}},
	{isHeadTooLarge, failure{"response head over the limit", headTooLarge}},
	{isTimeout, failure{"connection timed out", "timeout"}},
}

// classify names a transport or body-read error. When ctx has ended, that
// is the cause whatever the transport said, and ctx.Err() is returned.
func classify(ctx context.Context, err error) (failure, error) {
	if cerr := ctx.Err(); cerr != nil {
		result := "canceled"
		if errors.Is(cerr, context.DeadlineExceeded) {
			result = "timeout"
		}
		return failure{"no answer", result}, cerr
	}
	for _, f := range failures {
		if f.is(err) {
			return f.failure, nil
		}
	}
	return failure{"transport error", "error"}, nil
}

func isErr(target error) func(error) bool {
	return func(err error) bool { return errors.Is(err, target) }
}

func as[E error](err error) bool {
	_, ok := errors.AsType[E](err)
	return ok
}

func isTLS(err error) bool {
	return as[tls.RecordHeaderError](err) || as[*tls.CertificateVerificationError](err) || as[tls.AlertError](err) ||
		as[x509.UnknownAuthorityError](err) || as[x509.HostnameError](err) || as[x509.CertificateInvalidError](err)
}

// headTooLarge is the result of an answer whose head is over the fetcher's
// limit: Transport.MaxResponseHeaderBytes, or HTTP/2's header list size.
const headTooLarge = "head_too_large"

// isHeadTooLarge matches net/http's errors for an oversized response head,
// which it does not export.
func isHeadTooLarge(err error) bool {
	s := err.Error()
	return strings.Contains(s, "server response headers exceeded") ||
		strings.Contains(s, "response header list larger than advertised limit")
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
