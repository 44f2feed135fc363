// Package groupcast is the vocabulary every other package speaks: the
// announcement an ops team writes, the targets it is planned to, the text a
// style renders for one target, the interfaces a platform driver implements,
// and the classification of delivery failures.
//
// It depends on the standard library and a YAML decoder only, so that
// adapters, transformers, the policy and the router can share it without
// importing each other.
package groupcast
