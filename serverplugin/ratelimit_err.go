package serverplugin

import "errors"

var errReqReachLimit = errors.New("request reached rate limit")
