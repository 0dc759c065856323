// A cnitool-like driver built from Debian's libcni (the library container runtimes use to call plugins).
// Usage: cnitool add|check|del <network-name> <netns-path>
// Env: NETCONFPATH (conflist directory), CNI_PATH, CNI_IFNAME (default eth0), CAP_ARGS (JSON capability
// args), CNI_ARGS (K=V;...), CNI_CONTAINERID (default: derived from the netns path), CNI_CACHE_DIR.
package main

import (
	"context"
	"crypto/sha512"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containernetworking/cni/libcni"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func main() {
	if len(os.Args) < 4 {
		fail("usage: %s add|check|del <network-name> <netns-path>", filepath.Base(os.Args[0]))
	}
	netconfPath := os.Getenv("NETCONFPATH")
	if netconfPath == "" {
		netconfPath = "/etc/cni/net.d"
	}
	list, err := libcni.LoadConfList(netconfPath, os.Args[2])
	if err != nil {
		fail("loading network %s from %s: %v", os.Args[2], netconfPath, err)
	}
	var capArgs map[string]interface{}
	if s := os.Getenv("CAP_ARGS"); s != "" {
		if err := json.Unmarshal([]byte(s), &capArgs); err != nil {
			fail("CAP_ARGS: %v", err)
		}
	}
	var cniArgs [][2]string
	if s := os.Getenv("CNI_ARGS"); s != "" {
		for _, pair := range strings.Split(s, ";") {
			kv := strings.SplitN(pair, "=", 2)
			if len(kv) != 2 {
				fail("CNI_ARGS: invalid pair %q", pair)
			}
			cniArgs = append(cniArgs, [2]string{kv[0], kv[1]})
		}
	}
	ifName := os.Getenv("CNI_IFNAME")
	if ifName == "" {
		ifName = "eth0"
	}
	netns := os.Args[3]
	containerID := os.Getenv("CNI_CONTAINERID")
	if containerID == "" {
		containerID = fmt.Sprintf("cnitool-%x", sha512.Sum512([]byte(netns)))[:20]
	}
	rt := &libcni.RuntimeConf{ContainerID: containerID, NetNS: netns, IfName: ifName, Args: cniArgs, CapabilityArgs: capArgs}
	cniConfig := libcni.NewCNIConfigWithCacheDir(filepath.SplitList(os.Getenv("CNI_PATH")), os.Getenv("CNI_CACHE_DIR"), nil)
	ctx := context.TODO()
	switch os.Args[1] {
	case "add":
		result, err := cniConfig.AddNetworkList(ctx, list, rt)
		if err != nil {
			fail("add: %v", err)
		}
		_ = result.Print()
	case "check":
		if err := cniConfig.CheckNetworkList(ctx, list, rt); err != nil {
			fail("check: %v", err)
		}
	case "del":
		if err := cniConfig.DelNetworkList(ctx, list, rt); err != nil {
			fail("del: %v", err)
		}
	default:
		fail("unknown command %q", os.Args[1])
	}
}
