package gen

import "strconv"

// syslogPRI is local7.info (23*8 + 6), what Logplex drains carry.
const syslogPRI = "<190>1 "

// appendSyslog appends a line as an RFC 5424 message:
//
//	<190>1 TIMESTAMP HOSTNAME APP PROCID - - MSG
//
// or, for Logplex, as Logplex writes it (no STRUCTURED-DATA field):
//
//	<190>1 TIMESTAMP host APP PROCID - MSG
func appendSyslog(dst, line []byte, p parts, hostname string, logplex bool) []byte {
	dst = append(dst, syslogPRI...)
	dst = append(dst, line[:p.tsEnd]...)
	dst = append(dst, ' ')
	dst = append(dst, hostname...)
	dst = append(dst, ' ')
	dst = append(dst, line[p.appStart:p.appEnd]...)
	dst = append(dst, ' ')
	dst = append(dst, line[p.procStart:p.procEnd]...)
	if logplex {
		dst = append(dst, " - "...)
	} else {
		dst = append(dst, " - - "...)
	}
	return append(dst, line[p.msgStart:]...)
}

// appendOctetCounted appends msg framed by octet counting (RFC 6587):
// its length in decimal, a space, the message.
func appendOctetCounted(dst, msg []byte) []byte {
	dst = strconv.AppendInt(dst, int64(len(msg)), 10)
	dst = append(dst, ' ')
	return append(dst, msg...)
}
