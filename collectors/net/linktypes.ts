/**
 * Link-layer types we decode (tcpdump.org LINKTYPE_* values), and the EtherTypes we follow.
 * https://www.tcpdump.org/linktypes.html
 */
export const LINKTYPE = {
  NULL: 0, // BSD loopback: 4-byte address family in host byte order
  ETHERNET: 1,
  RAW: 101, // raw IPv4/IPv6, version from the first nibble
  RAW_OPENBSD: 12, // DLT_RAW on OpenBSD, written as 12 by some tools
  RAW_14: 14, // DLT_RAW on some BSDs
  LOOP: 108, // OpenBSD loopback: address family in network byte order
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

export const ETHERTYPE = {
  IPV4: 0x0800,
  IPV6: 0x86dd,
  VLAN: 0x8100, // 802.1Q
  QINQ: 0x88a8, // 802.1ad
  QINQ_OLD: 0x9100, // pre-standard QinQ, still seen on old switches
} as const;

/** BSD address family values for IPv4 and the several IPv6 values BSDs use. */
export const AF_INET = 2;
export const AF_INET6 = new Set([10, 24, 28, 30]);
