// Package roletest runs shipped role task files (package roles) through the
// engine against this machine, for the parts of a role that need no lab
// (its tests live here, not in roles/, whose whole folder is embedded in
// the kplay binary).
package roletest
