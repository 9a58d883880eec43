//go:build !sockit_portable

package platform

const portable = false
