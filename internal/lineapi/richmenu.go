package lineapi

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"
)

// RichMenu is a rich menu definition: its size on LINE and its tappable areas.
type RichMenu struct {
	Name        string
	ChatBarText string
	Width       int64
	Height      int64
	Selected    bool // shown open by default
	Areas       []RichMenuArea
}

// RichMenuArea is one tappable rectangle of a rich menu and what a tap does.
type RichMenuArea struct {
	X, Y, Width, Height int64
	Action              Action
}

// sdk turns m into the SDK's request type.
func (m RichMenu) sdk() *messaging_api.RichMenuRequest {
	req := &messaging_api.RichMenuRequest{
		Size:        &messaging_api.RichMenuSize{Width: m.Width, Height: m.Height},
		Selected:    m.Selected,
		Name:        m.Name,
		ChatBarText: m.ChatBarText,
	}
	for _, a := range m.Areas {
		req.Areas = append(req.Areas, messaging_api.RichMenuArea{
			Bounds: &messaging_api.RichMenuBounds{X: a.X, Y: a.Y, Width: a.Width, Height: a.Height},
			Action: a.Action.sdk(),
		})
	}
	return req
}

// MarshalJSON writes the menu as LINE receives it (the body of "Create rich menu"), so
// a hash of it changes exactly when what LINE is sent changes.
func (m RichMenu) MarshalJSON() ([]byte, error) { return json.Marshal(m.sdk()) }

// RichMenuInfo is a rich menu that exists on LINE.
type RichMenuInfo struct {
	ID   string
	Name string
}

// RichMenus lists the channel's rich menus on LINE.
func (c *Client) RichMenus(ctx context.Context, ch Channel) ([]RichMenuInfo, error) {
	api, err := c.api(ctx, ch)
	if err != nil {
		return nil, err
	}
	res, list, err := api.GetRichMenuListWithHttpInfo()
	if e := apiError(res, err); e != nil {
		return nil, e
	}
	out := make([]RichMenuInfo, 0, len(list.Richmenus))
	for _, m := range list.Richmenus {
		out = append(out, RichMenuInfo{ID: m.RichMenuId, Name: m.Name})
	}
	return out, nil
}

// CreateRichMenu creates a rich menu on LINE and uploads its image (a PNG); it returns
// LINE's ID of the menu.
func (c *Client) CreateRichMenu(ctx context.Context, ch Channel, m RichMenu, png []byte) (string, error) {
	api, err := c.api(ctx, ch)
	if err != nil {
		return "", err
	}
	res, idr, err := api.CreateRichMenuWithHttpInfo(m.sdk())
	if e := apiError(res, err); e != nil {
		return "", e
	}
	blob, err := c.blob(ctx, ch)
	if err != nil {
		return "", err
	}
	res, _, err = blob.SetRichMenuImageWithHttpInfo(idr.RichMenuId, "image/png", bytes.NewReader(png))
	if e := apiError(res, err); e != nil {
		return "", e
	}
	return idr.RichMenuId, nil
}

// SetDefaultRichMenu makes a menu the one every user without a menu of their own sees.
func (c *Client) SetDefaultRichMenu(ctx context.Context, ch Channel, richMenuID string) error {
	api, err := c.api(ctx, ch)
	if err != nil {
		return err
	}
	res, _, err := api.SetDefaultRichMenuWithHttpInfo(richMenuID)
	return apiError(res, err)
}

// DeleteRichMenu deletes a rich menu from LINE.
func (c *Client) DeleteRichMenu(ctx context.Context, ch Channel, richMenuID string) error {
	api, err := c.api(ctx, ch)
	if err != nil {
		return err
	}
	res, _, err := api.DeleteRichMenuWithHttpInfo(richMenuID)
	return apiError(res, err)
}

// LinkRichMenu gives one user a menu of their own.
func (c *Client) LinkRichMenu(ctx context.Context, ch Channel, userID, richMenuID string) error {
	api, err := c.api(ctx, ch)
	if err != nil {
		return err
	}
	res, _, err := api.LinkRichMenuIdToUserWithHttpInfo(userID, richMenuID)
	return apiError(res, err)
}

// UnlinkRichMenu returns one user to the default menu.
func (c *Client) UnlinkRichMenu(ctx context.Context, ch Channel, userID string) error {
	api, err := c.api(ctx, ch)
	if err != nil {
		return err
	}
	res, _, err := api.UnlinkRichMenuIdFromUserWithHttpInfo(userID)
	return apiError(res, err)
}
