// Package deploy holds renraku's deployment files: the container image build
// (Dockerfile), a compose file for a trial on one machine, and Kubernetes manifests
// (kubernetes/). It has no Go code; deploy_test.go checks the files statically.
package deploy
