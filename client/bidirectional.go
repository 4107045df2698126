package client

// serverMessagesClosed reports the end of the connection's notification
// stream to Option.ServerMessageClosed. The reader goroutine calls it after
// terminate, so every notification it delivered came before; the callback
// may call Close.
func (client *Client) serverMessagesClosed() {
	fn := client.option.ServerMessageClosed
	if fn == nil {
		return
	}
	client.inReader.Store(true)
	defer client.inReader.Store(false)
	fn(client.RemoteAddr(), client.shutdownErr())
}
