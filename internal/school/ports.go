package school

import "context"

// HandoutLimits reads the board's handout size limit, which the console shows a board
// administrator beside the schools (announce.Service).
type HandoutLimits interface {
	MaxHandoutMB(ctx context.Context) (int, error)
}
