package session

import "time"

// now is the clock for templates.
var now = time.Now
